// Drives Debian's headless Chromium through the sign-in and consent pages (playwright-core; no browser
// is downloaded). One JSON command per line on stdin, one JSON answer per line on stdout. Every wait
// is bounded. Requests that leave 127.0.0.1 are recorded and aborted: the pages must load nothing
// from elsewhere.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT_MS = 15000;
const ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: ARGS, timeout: TIMEOUT_MS });
let context = null;
let page = null;
const outside = [];

async function fresh(colorScheme) {
  if (context) await context.close();
  context = await browser.newContext({ colorScheme, viewport: { width: 720, height: 760 } });
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") {
      outside.push(route.request().url());
      return route.abort();
    }
    return route.continue();
  });
}

// What a person (and a screen reader) gets from the page.
function readPage() {
  const active = document.activeElement;
  const alert = document.querySelector('[role="alert"]:not([hidden])');
  return {
    title: document.title,
    heading: document.querySelector("h1")?.textContent ?? null,
    text: document.body.innerText,
    focused: active ? { tag: active.tagName.toLowerCase(), id: active.id || null, name: active.getAttribute("name") } : null,
    alert: alert ? alert.textContent : null,
    invalid: [...document.querySelectorAll('[aria-invalid="true"]')].map((node) => ({
      id: node.id, describedBy: node.getAttribute("aria-describedby"),
    })),
    unlabelled: [...document.querySelectorAll("input:not([type=hidden]), select")]
      .filter((node) => !(node.id && document.querySelector(`label[for="${node.id}"]`)))
      .map((node) => node.name),
    background: getComputedStyle(document.body).backgroundColor,
    color: getComputedStyle(document.body).color,
    forms: [...document.forms].map((form) => ({
      action: form.getAttribute("action"),
      csrf: Boolean(form.querySelector('input[name="csrf"]')?.value),
    })),
  };
}

async function handle(command) {
  switch (command.op) {
    case "fresh":
      await fresh(command.colorScheme || "light");
      return {};
    case "goto": {
      const response = await page.goto(command.url, { waitUntil: "load" });
      return { status: response ? response.status() : null, url: page.url() };
    }
    case "fill":
      await page.fill(command.selector, command.value);
      return {};
    case "submit": {
      // Click and wait for the navigation it causes (a form post, then its redirects).
      const [response] = await Promise.all([
        page.waitForNavigation({ waitUntil: "load" }),
        page.click(command.selector),
      ]);
      return { status: response ? response.status() : null, url: page.url() };
    }
    case "read":
      return { url: page.url(), page: await page.evaluate(readPage) };
    case "screenshot":
      await page.emulateMedia({ colorScheme: command.colorScheme });
      await page.screenshot({ path: command.path, fullPage: true });
      return {};
    case "scheme":
      await page.emulateMedia({ colorScheme: command.colorScheme });
      return {};
    case "outside":
      return { requests: outside };
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer;
  try {
    answer = { ok: true, ...(await handle(JSON.parse(line))) };
  } catch (error) {
    answer = { ok: false, error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();

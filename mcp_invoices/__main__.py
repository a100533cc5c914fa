from mcp_invoices.cli import main

raise SystemExit(main())

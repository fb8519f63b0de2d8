from desktop_oms.cli import main

raise SystemExit(main())

from unlearning.bench.cli import main

raise SystemExit(main())

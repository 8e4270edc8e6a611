"""``python -m synthbalance [overrides]``: the ``synthbalance`` command."""

from synthbalance.pipelines.cli import main

main()

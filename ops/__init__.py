"""Operations on deployed stacks, run by people and pipelines next to the Pulumi CLI (the drift report,
summaries of a preview).

ops may use the product (components, providers) but never the twins or the tests (tests/unit/test_layers.py).
"""

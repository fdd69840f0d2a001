"""Charts of a Prometheus range result: `data` reads the `query_range` tool's text (fenced as the model
saw it) into a `model.Chart`, `render` draws it as a small PNG (matplotlib, imported on first use).

No re-exports, like `agents`: importing the model or the parser must not load matplotlib.
"""

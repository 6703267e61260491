"""One module per CLI command group; each has `register(app, bench)`.

Command modules import heavy libraries (torch, streamlit) inside the command functions,
so the CLI starts fast and `sketchlab study ...` never imports torch.
"""

"""The terminal UI (Textual): the only package of tui_sync that imports textual.

It reaches the engine only through `tui_sync.service`.
"""

"""The engine: a problem's forward and backward pass and its updates, computed with numpy; nothing here prints."""

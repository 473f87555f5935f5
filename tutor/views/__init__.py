"""Views of a trace: text and plain tables, JSON, the quiz screen; and the layout and output they share."""

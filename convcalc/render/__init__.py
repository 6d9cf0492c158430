"""Renderers: the summary table and Markdown (text), Graphviz diagrams (layout,
diagram), the interactive HTML view (html), and the render / explain commands."""

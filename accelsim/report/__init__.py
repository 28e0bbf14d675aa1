"""Dashboards: plotly figures from result tables (figures.py) in one offline HTML file (html.py)."""

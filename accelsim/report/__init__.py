"""Dashboards: offline HTML pages of plotly figures.

- ``html``: the page builder (``render(title, subtitle, sections)``, ``Section``), plotly.js inlined once;
- ``units``: display units (energy pJ..J, time ns..s, bytes B..GiB) and the label rules;
- ``figures``: run and sweep figures, log/linear and view buttons;
- ``build``: ``accelsim report`` pages of run and sweep folders; ``explorer`` + ``script``: the sweep explorer;
- ``mapping_view``: loop nests, tile occupancy and traffic per level (two-level and architecture trees);
- ``compare``: ``accelsim compare``; ``llm_page``: ``accelsim llm --report``.
"""

"""Every chart of the bilan and of the commune sheet, with one shared theme and French formats.

- :mod:`.theme`: the Altair theme ``"mutualisation"`` (registered and enabled on import),
  its palette and sizes, the French locale given to Vega;
- :mod:`.render`: how charts display (:func:`setup`: static SVG drawn by vl-convert with
  stable ids for reports, or :mod:`.interactive` in JupyterLab) and :func:`to_svg`, which
  first looks in :mod:`mutualisation.present.svg_cache` for an SVG drawn ahead;
- :mod:`.parts`: titles, legends, colours, action bars and histograms shared by the charts;
- :mod:`.bilan`, :mod:`.communes`, :mod:`.fiche`: the charts themselves.

Every chart function takes the Polars frames of :mod:`mutualisation.compute` (French column
names) and returns an Altair chart whose categorical axes all have an explicit order. Years
and other small integers used as categories are turned into strings, so that no number
format ever writes "2 019". Whatever a reader of a static SVG needs is written on the chart
(values on bars, subtitles); tooltips only repeat it for interactive use.
"""

from mutualisation.present.charts.bilan import (
    actions_by_year,
    actions_distribution,
    by_domain,
    deployed_this_year,
    participation_shares,
    participations_by_action,
)
from mutualisation.present.charts.communes import (
    commune_action_matrix,
    commune_map,
    uptake_by_size,
)
from mutualisation.present.charts.fiche import (
    available_actions,
    commune_actions_timeline,
    commune_timeline,
    peer_distribution,
)
from mutualisation.present.charts.render import (
    FIGURE_KEY,
    STATIC_RENDERER,
    ChartLike,
    Mode,
    draw_svg,
    named,
    setup,
    spec_key,
    spec_to_svg,
    to_dict,
    to_svg,
    use_static,
)
from mutualisation.present.charts.theme import NO_DEPLOYMENT, THEME

__all__ = [
    "FIGURE_KEY", "NO_DEPLOYMENT", "STATIC_RENDERER", "THEME", "ChartLike", "Mode",
    "actions_by_year", "actions_distribution", "available_actions", "by_domain",
    "commune_action_matrix", "commune_actions_timeline", "commune_map", "commune_timeline",
    "deployed_this_year", "draw_svg", "named", "participation_shares",
    "participations_by_action", "peer_distribution", "setup", "spec_key", "spec_to_svg",
    "to_dict", "to_svg", "uptake_by_size", "use_static",
]

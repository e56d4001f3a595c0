"""Import of a follow-up spreadsheet (« tableau de suivi des conventions ») into the
participations table of a data folder (issue 14; ``mutualisation import``).

Analysts keep participations as a sheet with one row per commune, written by name,
and one column per action, each cell holding ``X``, a date, a year or nothing (the
*matrix*); or as a list with one row per commune and action and optional start and end
dates (the *list*). :func:`import_followup` reads either (XLSX, or CSV in the encodings
and with the separators of :mod:`mutualisation.data.read`), finds the header row below
any title block, resolves communes and actions against the folder's ``communes`` and
``actions`` tables, and writes ``participations.csv`` in the contract with a conversion
report beside it (:data:`REPORT_FILE`), both or neither. Nothing is written while a name,
a header or a cell is not understood: every such problem is raised at once as a
:class:`~mutualisation.data.problems.DataError`, one line each, naming the sheet, the
cell (``D12``) and the value.

Names (communes, action headers) match through the folder's mapping file
(:data:`MAPPING_FILE`, two columns ``ecrit,code``: an INSEE code, an ``action_id``, or
``ignorer`` for a row or a column to leave out), as written, or once normalised
(:func:`normalised`), in that order. A commune written with its department in brackets
(« Saint-Martin (62) ») tells two communes of the same name apart.

A cell ``X``/``oui``/``1``/``✓`` says the commune takes part without saying since when:
the start is the action's deployment date (``default_date`` when it has none), moved
to the commune's accession or the action's inscription when that is later.

What a matrix cannot represent: one start date per commune and action, and no end date.
A participation that ended, or a commune that left an action and joined it again, is
not in a matrix: every participation imported from one is open (``date_fin`` empty).
The list carries both.

Modules: :mod:`.cells` (what a cell holds), :mod:`.names` (normalisation, resolution,
suggestions), :mod:`.reference` (the folder's tables and mapping file), :mod:`.sheet`
(reading, header row and shape), :mod:`.shapes` (matrix and list), :mod:`.convert`
(dates, rules, report, writing).
"""

from mutualisation.data.followup.cells import CellProblem
from mutualisation.data.followup.convert import (
    OUTPUT_FILE,
    REPORT_FILE,
    ImportResult,
    WriteError,
    import_followup,
)
from mutualisation.data.followup.names import IGNORE, MAPPING_FILE, normalise_name, normalised

__all__ = ["IGNORE", "MAPPING_FILE", "OUTPUT_FILE", "REPORT_FILE", "CellProblem",
           "ImportResult", "WriteError", "import_followup", "normalise_name", "normalised"]

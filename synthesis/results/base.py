"""Shared by every concern of the results space: the figures a synthesis may carry, display
limits, and the one error type the views turn into a French message and a status."""

from __future__ import annotations

from consult import csvout
from consult.web import ConsultError
from synthesis import catalog as tables

# Tables a composer may put in a synthesis, in catalogue order. The question labels are not a
# figure: they come along automatically with the questionnaire tables.
FIGURES: tuple[str, ...] = tuple(n for n in tables.TABLE_NAMES if n != "survey_questions")
SURVEY_FIGURES = {"survey_distribution", "survey_territory"}
# Rows shown per figure on the page and in the PDF; the whole table is in its CSV download.
DISPLAY_ROWS = 200
# The PDF is a document, not a data file: fewer rows, and the link to the full CSV.
PDF_ROWS = 60
SUPPRESSED = csvout.SUPPRESSED_TEXT
# Display labels frozen with a version's figures (not a table: never offered for download).
LABELS_KEY = "_labels"


class ResultsError(ConsultError):
    """A refusal the view shows in French with the given HTTP status."""

    status = 422

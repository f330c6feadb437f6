"""Results space logic: drafting a scope's synthesis, proposals and their sources, publication of
frozen versions, and the display form of the figures they carry — one module per concern:

- ``base``: the figures a synthesis may carry, display limits, :class:`ResultsError`;
- ``scopes``: the territories a synthesis is written for;
- ``reading``: drafts, versions, citations (no writes);
- ``drafting``: the working draft, its text and proposals;
- ``sources``: references parsed and checked (public, in the territory);
- ``publication``: the draft frozen as a numbered version;
- ``figures``: the display form of frozen figures (pages, PDF, CSV);
- ``demo``: the demo step.

Functions take the session and never commit; the view commits once. Every refusal is a
:class:`ResultsError` carrying a French message and its HTTP status, raised before anything is
written or inside the view's single transaction, so a refused publication publishes nothing.
This module re-exports the public names, so callers keep writing ``results.publish(...)``.
"""

from consult.territories import Scope
from synthesis.results.base import (
    DISPLAY_ROWS,
    FIGURES,
    LABELS_KEY,
    PDF_ROWS,
    SUPPRESSED,
    SURVEY_FIGURES,
    ResultsError,
)
from synthesis.results.demo import demo
from synthesis.results.drafting import (
    add_proposal,
    delete_proposal,
    save_text,
    start_draft,
    update_proposal,
)
from synthesis.results.figures import (
    FigureTable,
    figure_csv_rows,
    figure_tables,
    format_number,
    suppressed_cells,
)
from synthesis.results.publication import freeze_pdf, publish
from synthesis.results.reading import (
    citations,
    draft_of,
    drafts_by_scope,
    latest,
    latest_by_scope,
    mark_removed_sources,
    personal_data,
    published,
    themes,
    version_counts,
    versions,
)
from synthesis.results.scopes import (
    all_scopes,
    composable_scopes,
    publisher_label,
    scope,
    scope_from_key,
    scope_from_slug,
)
from synthesis.results.sources import (
    SourceSpec,
    add_source,
    parse_reference,
    remove_source,
    resolve_source,
)

__all__ = [
    "DISPLAY_ROWS",
    "FIGURES",
    "LABELS_KEY",
    "PDF_ROWS",
    "SUPPRESSED",
    "SURVEY_FIGURES",
    "FigureTable",
    "ResultsError",
    "Scope",
    "SourceSpec",
    "add_proposal",
    "add_source",
    "all_scopes",
    "citations",
    "composable_scopes",
    "delete_proposal",
    "demo",
    "draft_of",
    "drafts_by_scope",
    "figure_csv_rows",
    "figure_tables",
    "format_number",
    "freeze_pdf",
    "latest",
    "latest_by_scope",
    "mark_removed_sources",
    "parse_reference",
    "personal_data",
    "publish",
    "published",
    "publisher_label",
    "remove_source",
    "resolve_source",
    "save_text",
    "scope",
    "scope_from_key",
    "scope_from_slug",
    "start_draft",
    "suppressed_cells",
    "themes",
    "update_proposal",
    "version_counts",
    "versions",
]

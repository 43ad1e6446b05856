"""The staging checks fail when what they guard is broken (each is also shown failing through Dagster,
except this one: a real workbook cannot make staging lose a row, so a staged frame loses one here)."""

from order_platform.staging.checks import CHECK_ROWS_ACCOUNTED_FOR, staging_checks
from order_platform_tests.workbooks import line, workbook_name, write_workbook


def test_rows_accounted_for_fails_when_a_staged_row_goes_missing(platform):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B"), ["TOTAL"]])
    pipeline = platform.pipeline
    ref = pipeline.locate("GREYSON")
    raw = pipeline.load_raw("GREYSON", ref, (platform.source / ref.path).read_bytes())
    result = pipeline.stage("GREYSON", ref, raw).result
    outcome = {c.name: c for c in staging_checks(result, raw.headers, pipeline.schema)}[CHECK_ROWS_ACCOUNTED_FOR]
    assert outcome.passed and outcome.blocking

    result.staged = result.staged.iloc[1:]  # a row lost between the raw table and staging
    outcome = {c.name: c for c in staging_checks(result, raw.headers, pipeline.schema)}[CHECK_ROWS_ACCOUNTED_FOR]
    assert not outcome.passed
    assert outcome.details == {"raw_rows": 3, "staged_rows": 1, "quarantined_rows": 1}

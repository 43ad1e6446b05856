from order_platform.schema import Kind, order_list_schema
from order_platform.staging.customers import customer_directory, raw_table_name


def test_schema_has_the_production_shape():
    schema = order_list_schema()
    assert len(schema.columns) == 411
    assert len(schema.size_columns) == 245
    groups = [c.group for c in schema.columns]
    # sizes sit between UNIT OF MEASURE and TOTAL QTY, as in production
    names = [c.name for c in schema.columns]
    first_size, last_size = groups.index("size"), len(groups) - 1 - groups[::-1].index("size")
    assert names[first_size - 1] == "UNIT OF MEASURE" and names[last_size + 1] == "TOTAL QTY"
    assert schema.by_name["CUSTOMER PRICE"].kind is Kind.DECIMAL
    assert (schema.by_name["CUSTOMER PRICE"].precision, schema.by_name["CUSTOMER PRICE"].scale) == (10, 4)
    assert schema.by_name["TOTAL QTY"].kind is Kind.SMALLINT


def test_header_matching_ignores_case_and_spacing_and_knows_aliases():
    schema = order_list_schema()
    assert schema.canonical_for("36X30") == "36x30"
    assert schema.canonical_for(" one  size ") == "ONE SIZE"
    assert schema.canonical_for("PROMO GROUP / CAMPAIGN (HOT 30/GLOBAL EDIT") == (
        "PROMO GROUP / CAMPAIGN (HOT 30/GLOBAL EDIT)"
    )
    assert schema.canonical_for("Longson Alias") == "LONGSON ALIAS"
    assert (
        schema.canonical_for("COUNTRY OF ORIGN") == "COUNTRY OF ORIGN"
    )  # a real typo that is its own column
    assert schema.canonical_for("ORIGINAL PO NUMBER") is None
    assert schema.canonical_for("3/4Y") is None


def test_customer_names_are_canonicalised():
    directory = customer_directory()
    assert directory.canonical("GREYSON CLOTHIERS") == "GREYSON"
    assert directory.canonical("TITLE 9") == "TITLE NINE"
    assert directory.canonical("LORNA JANE (AU)") == "LORNA JANE"
    assert directory.canonical("ED WONDER") == "EDWONDER"
    assert directory.canonical("LAMBS") == "LAMBS"  # its own customer, not GET LAMBS
    assert directory.canonical("NOBODY WE KNOW") is None
    assert directory.partition_key("new customer  co") == "NEW CUSTOMER CO"
    assert raw_table_name("TITLE NINE") == "xTITLE_NINE_ORDER_LIST_RAW"


def test_distinct_customers_never_share_a_table():
    names = ["ACME CO", "ACME CO.", "ACME_CO", "CAFÉ", "CAFÈ", "日本", "中国", "A  B"]
    tables = [raw_table_name(n) for n in names]
    assert len(set(tables)) == len(names)
    assert tables[0] == "xACME_CO_ORDER_LIST_RAW" and tables[1].startswith("xACME_CO_")
    assert all(t.isascii() for t in tables)
    assert raw_table_name("B'HOOD") == "xB_HOOD_ORDER_LIST_RAW"  # a known customer: any look-alike is it

"""The declaration reference (docs/declaration.md) and the stack-file JSON schema follow the models.

Every field of every model, each registered vendor's loadBalancer model included, has prose in
components/declaration_prose.py; no prose is left for a field that is gone; the generated files are what the
generator makes of the models now; the stack files name the schema and their clusters validate.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from components import declaration_doc, registry
from components.declaration import parse_clusters

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


def test_every_field_has_prose():
    missing = [row.path for row in declaration_doc.fields() if row.path not in declaration_doc.PROSE]
    assert not missing, (
        "fields without prose in components/declaration_prose.py PROSE (say what each does, on which "
        "vendors, on each appliance and on the nodes): " + ", ".join(missing)
    )


def test_no_prose_for_fields_that_are_gone():
    paths = {row.path for row in declaration_doc.fields()}
    stale = sorted(set(declaration_doc.PROSE) - paths)
    assert not stale, "PROSE describes fields the models no longer have: " + ", ".join(stale)


def test_prose_effects_name_known_vendors_or_the_nodes():
    known = {*registry.kinds(), declaration_doc.NODES}
    wrong = [
        f"{path}: {key}"
        for path, prose in declaration_doc.PROSE.items()
        for key in prose.effects
        if key not in known
    ]
    assert not wrong, "effects keyed by something that is neither a vendor kind nor 'nodes': " + ", ".join(
        wrong
    )


def test_vendor_fields_agree_with_the_vendor_models():
    """A field of the per-vendor loadBalancer models is listed under exactly the vendors whose model has
    it; prose that names vendors must name those."""
    models = declaration_doc.vendor_models()
    problems = []
    for row in declaration_doc.fields():
        if row.vendors is None:
            continue
        having = sorted(k for k, m in models.items() if row.path.split(".", 1)[1] in _aliases(m))
        if sorted(row.vendors) != having:
            problems.append(f"{row.path}: walked for {row.vendors}, models of {having}")
        prose = declaration_doc.PROSE.get(row.path)
        if prose is not None and prose.vendors is not None and sorted(prose.vendors) != having:
            problems.append(f"{row.path}: prose says {prose.vendors}, the models of {having} have it")
    assert not problems, "\n".join(problems)


def _aliases(model: type) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}  # type: ignore[attr-defined]


def test_every_vendor_model_field_is_walked():
    paths = {row.path for row in declaration_doc.fields()}
    for kind, model in declaration_doc.vendor_models().items():
        for alias in _aliases(model):
            assert f"loadBalancer.{alias}" in paths, f"{kind}: loadBalancer.{alias} not walked"


def test_generated_files_are_up_to_date():
    stale = [str(p.relative_to(ROOT)) for p in declaration_doc.stale()]
    assert not stale, (
        f"{', '.join(stale)} out of date with the models: run "
        "`venv/bin/python -m components.declaration_doc --write`"
    )
    assert declaration_doc.main(["--check"]) == 0


def test_reference_lists_every_field_with_a_heading():
    text = declaration_doc.DOC_PATH.read_text(encoding="utf-8")
    for row in declaration_doc.fields():
        assert f"\n### {row.path}\n" in text, row.path


def test_schema_describes_the_stack_file():
    schema = json.loads(declaration_doc.SCHEMA_PATH.read_text(encoding="utf-8"))
    clusters = schema["properties"]["config"]["properties"]["aovpn:clusters"]
    assert clusters["items"] == {"$ref": "#/$defs/Cluster"}
    cluster = schema["$defs"]["Cluster"]
    assert set(cluster["properties"]) == {
        row.path for row in declaration_doc.fields() if "." not in row.path and "[" not in row.path
    }
    assert all("description" in p for p in cluster["properties"].values())
    options = cluster["properties"]["loadBalancer"].get("oneOf", [])
    assert len(options) == len(declaration_doc.vendor_models())


def test_stack_files_name_the_schema_and_their_clusters_validate():
    assert STACKS
    for stack in STACKS:
        text = stack.read_text(encoding="utf-8")
        assert text.splitlines()[0] == declaration_doc.SCHEMA_MODELINE, f"{stack.name}: no schema modeline"
        target = (stack.parent / declaration_doc.SCHEMA_MODELINE.split("=", 1)[1]).resolve()
        assert target == declaration_doc.SCHEMA_PATH, stack.name
        config = yaml.safe_load(text)["config"]
        clusters = parse_clusters(config["aovpn:clusters"])
        assert clusters, stack.name
        registry.check_supported(clusters)


def test_readme_example_is_a_valid_declaration():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Declaring a cluster", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    clusters = parse_clusters(yaml.safe_load(example)["config"]["aovpn:clusters"])
    registry.check_supported(clusters)

"""template.yaml as CloudFormation reads it, through the parser `sam` itself uses (aws-sam-cli's
yamlhelper): short tags such as `!Ref` and `!Sub` become their long forms (`{"Ref": ...}`,
`{"Fn::Sub": ...}`). For every script that reads the template, and the one that writes a
packaged copy of it (long forms are CloudFormation too)."""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
#: The table of functions (`cargo xtask generate` writes it from xtask/src/table.rs): name,
#: logical_id, kind (api, static, fallback, migrate), vpc, memory, timeout, settings, prefixes.
FUNCTIONS = json.loads((ROOT / "functions.json").read_text())


def plain(value):
    """OrderedDicts and tuples as dicts and lists (a JSON round trip)."""
    return json.loads(json.dumps(value))


def load(path=TEMPLATE):
    from samcli.yamlhelper import yaml_parse

    return plain(yaml_parse(pathlib.Path(path).read_text()))


def dump(template):
    from samcli.yamlhelper import yaml_dump

    return yaml_dump(template)

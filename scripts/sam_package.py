#!/usr/bin/env python3
"""Lays out what `make build` compiled the way `sam build` would, so that `sam deploy` ships
those binaries without SAM rebuilding the workspace once per function.

For every function of template.yaml built with `rust-cargolambda`, copies
target/lambda/<Binary>/bootstrap to .aws-sam/build/<LogicalId>/bootstrap and writes
.aws-sam/build/template.yaml with CodeUri pointing there (the file `sam deploy` reads by
default).

With --dry-run, the same layout goes to target/sam-dry-run/ instead (never .aws-sam/build,
which a later plain `sam deploy` would ship), with placeholders for missing binaries: the
generated template can be validated without an arm64 build (make template-check).
"""
import shutil
import sys

from tests.support.template import FUNCTIONS, ROOT, dump, load

BUILD = ROOT / ".aws-sam" / "build"
DRY_RUN = ROOT / "target" / "sam-dry-run"


# Every function of the table (functions.json, which make build compiles too): the template's
# functions are exactly these.
EXPECTED = [f["name"] for f in FUNCTIONS]

def main():
    dry_run = "--dry-run" in sys.argv
    build = DRY_RUN if dry_run else BUILD
    template = load()
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    packaged = []
    for logical_id, resource in template["Resources"].items():
        metadata = resource.get("Metadata", {})
        if resource.get("Type") != "AWS::Serverless::Function" or metadata.get("BuildMethod") != "rust-cargolambda":
            continue
        binary = metadata["BuildProperties"]["Binary"]
        source = ROOT / "target" / "lambda" / binary / "bootstrap"
        target = build / logical_id
        target.mkdir()
        if source.exists():
            header = source.read_bytes()[:20]
            # An ELF executable for aarch64 (e_machine 183), as provided.al2023 on arm64 runs.
            if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != 183:
                sys.exit(f"{source.relative_to(ROOT)} is not an arm64 executable: run make build")
            shutil.copy2(source, target / "bootstrap")
        elif dry_run:
            (target / "bootstrap").write_text("placeholder\n")
        else:
            sys.exit(f"{source.relative_to(ROOT)} is missing: run make build first")
        resource["Properties"]["CodeUri"] = logical_id
        # SAM's build metadata goes; cfn-lint's (ignore_checks) stays.
        for key in ("BuildMethod", "BuildProperties"):
            metadata.pop(key)
        if not metadata:
            del resource["Metadata"]
        packaged.append(binary)
        print(f"{logical_id}: {binary} ({(target / 'bootstrap').stat().st_size} bytes)")
    if sorted(packaged) != sorted(EXPECTED):
        sys.exit(f"template.yaml builds {sorted(packaged)}, expected {sorted(EXPECTED)}: run cargo xtask generate")
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    (build / "template.yaml").write_text(dump(template))
    print(f"wrote {(build / 'template.yaml').relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""`ocrpipe apis`: the Huawei OCR APIs a job's `[ocr] api` may name, with their options.

    ocrpipe apis              # every API: kind, image field, options
    ocrpipe apis id-card      # one API: its options with their types, its result columns
"""

from __future__ import annotations

import sys

import click

from pipeline.protocol import apis


@click.command("apis")
@click.argument("name", required=False)
def apis_command(name: str | None) -> None:
    """List the OCR APIs (from the official SDK's catalogue), or show one in detail."""
    if name is None:
        for api in apis.all_apis().values():
            if api.image_field is None:
                continue
            click.echo(f"{api.name:42} {api.kind:10} {', '.join(api.options) or '-'}")
        return
    try:
        api = apis.api(name)
    except apis.UnknownApi as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{api.name}: {api.kind}, image in '{api.image_field}', result {api.result}")
    click.echo("options ([ocr] options = {...}):")
    for option in api.options:
        click.echo(f"  {option}: {api.fields[option]}")
    if api.kind == "structured":
        click.echo("fields table columns (formats csv, xlsx):")
        click.echo("  " + ", ".join(api.columns))

# task-api: a small task tracker's API, generated from app.yaml.
spec = app.yaml
include std/python-fastapi/pack.dm

# A project-specific aggregate: the API reference, one section per entity.
atom docs/api.md
    template = templates/api.md.mustache

# std/python-fastapi/pack.dm - a FastAPI service from a spec with
# `app` (name, description) and `entities` (name, fields: name, type,
# optional).  Include it from a DMfile: include std/python-fastapi/pack.dm

atom app/models/{{name.snake}}.py
    foreach  = entities
    template = std/python-fastapi/model.py.mustache

atom app/routes/{{name.snake}}.py
    foreach  = entities
    template = std/python-fastapi/routes.py.mustache

atom app/models/__init__.py
    template = std/python-fastapi/models_init.py.mustache

atom app/main.py
    template = std/python-fastapi/main.py.mustache

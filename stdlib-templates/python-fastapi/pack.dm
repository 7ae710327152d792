# std/python-fastapi/pack.dm - a FastAPI service from a spec with
# `app` (name, description) and `entities` (name, fields: name, type,
# optional).  Include it from a DMfile: include std/python-fastapi/pack.dm
#
# Every Python output is parsed (check = syntax) and byte-compiled by
# Python itself in the "smoke" suite; the contracts say that every entity
# has a model class with each of its fields, and a route function for
# each endpoint.

atom app/models/{{name.snake}}.py
    foreach  = entities
    template = std/python-fastapi/model.py.mustache
    check    = syntax
    check    = contract:fastapi_model
    check    = cmd:python3 -m py_compile {{out}}
    suite    = smoke

atom app/routes/{{name.snake}}.py
    foreach  = entities
    template = std/python-fastapi/routes.py.mustache
    check    = syntax
    check    = contract:fastapi_routes
    check    = cmd:python3 -m py_compile {{out}}
    suite    = smoke

atom app/models/__init__.py
    template = std/python-fastapi/models_init.py.mustache
    check    = syntax
    check    = cmd:python3 -m py_compile {{out}}
    suite    = smoke

atom app/main.py
    template = std/python-fastapi/main.py.mustache
    check    = syntax
    check    = cmd:python3 -m py_compile {{out}}
    suite    = smoke

contract fastapi_model
    foreach = entities
    file    = app/models/{{name.snake}}.py
    query   = (class_definition name: (identifier) @class (#eq? @class "{{name.pascal}}") body: (block {{#fields}}(expression_statement (assignment left: (identifier) @{{name.snake}} (#eq? @{{name.snake}} "{{name.snake}}"))) {{/fields}}))

contract fastapi_routes
    foreach = entities
    file    = app/routes/{{name.snake}}.py
    query   = (function_definition name: (identifier) @f (#eq? @f "list_{{name.plural.snake}}"))
    query   = (function_definition name: (identifier) @f (#eq? @f "get_{{name.snake}}"))
    query   = (function_definition name: (identifier) @f (#eq? @f "create_{{name.snake}}"))
    query   = (function_definition name: (identifier) @f (#eq? @f "delete_{{name.snake}}"))

spec = shop.yaml more.yaml
spec = extra.yaml
mode = hybrid
llm  = anthropic claude-sonnet-4-5, openai gpt-4o

atom app/models/{{name.snake}}.py     # one per entity
    foreach  = entities
    template = std/python-fastapi/model.py.mustache
    check    = syntax
    check    = contract:models_have_classes
    pattern  = model.basic

atom app/services/order_flow.py
    template = skeletons/order_flow.py.mustache
    with     = order=entities.Order flow=flows.create_order
    after    = app/models/order.py
    after    = app/models/customer.py
    slot create_order
        pattern = flow.create_order
        prompt  = Implement {{flow.name}} for {{order.name}}: reserve stock \
                  for every line, then charge the customer
        check   = syntax
    slot cancel_order
        prompt = Cancel it \# not a comment
        check  = cmd:python3 -m py_compile {{out}}

contract models_have_classes
    foreach  = entities
    file     = app/models/{{name.snake}}.py
    query    = (class_definition name: (identifier) @n (#eq? @n "{{name.pascal}}"))
    optional = (function_definition) @f

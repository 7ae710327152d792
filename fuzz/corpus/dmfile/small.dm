spec = s.yaml
atom out/{{name}}.txt
    foreach = items
    template = t/a.mustache

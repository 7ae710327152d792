spec = s.yaml
atom a
	template = t
mode = fast
foo = bar
atom
slot 1x
    prompt =

spec = s.yaml
atom a.txt
  template = t.mustache
  check = no-markers

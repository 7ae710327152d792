# only comments

   # indented comment

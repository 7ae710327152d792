include sub/common.dm
include std/python-fastapi/pack.dm
atom a#b
    template = x {{#items}}y{{/items}}

-- expect: scenario.lua:3: role: files[1] must be a step made by file{}
scenario{ id = "bad", title = { ja = "悪い例", en = "Bad" }, description = { ja = "説明", en = "Description" } }
role{ name = "router", image = "tiny", files = { user{ name = "admin" } } }

// Runs an Argo CD style Lua health check (the script sees the resource as the global `obj` and
// returns a table {status, message}) with gopher-lua, the Lua VM Argo CD itself uses, over a JSON
// array of resources read from stdin; prints a JSON array of {status, message}.
//
//	go run . SCRIPT.lua < objects.json
package main

import (
	"encoding/json"
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
)

func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	}
	panic(fmt.Sprintf("unexpected JSON value %T", v))
}

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var objs []any
	if err := json.NewDecoder(os.Stdin).Decode(&objs); err != nil {
		panic(err)
	}
	out := []result{}
	for _, o := range objs {
		L := lua.NewState(lua.Options{SkipOpenLibs: false})
		L.SetGlobal("obj", toLua(L, o))
		if err := L.DoString(string(script)); err != nil {
			out = append(out, result{Error: err.Error()})
			L.Close()
			continue
		}
		ret := L.Get(-1)
		t, ok := ret.(*lua.LTable)
		if !ok {
			out = append(out, result{Error: fmt.Sprintf("script returned %s, not a table", ret.Type())})
		} else {
			out = append(out, result{Status: lua.LVAsString(t.RawGetString("status")), Message: lua.LVAsString(t.RawGetString("message"))})
		}
		L.Close()
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}

"""A synthetic schema whose one method's response reaches every message: files c0..cN, each
importing the one before, for a shallow build's tests (tests/py/test_real_schemas.py) and the
whole-closure benchmark (bench/real_schemas.py)."""


def chain(folder, files=200, messages=20):
    """Files f0..f199, each importing the one before; every message holds the same message of
    the file before and the one before it in its own file: Msg19 of the last file reaches all."""
    for f in range(files):
        lines = ['syntax = "proto3";', f"package chain.p{f};"]
        if f:
            lines.append(f'import "c{f - 1}.proto";')
        for m in range(messages):
            lines.append(f"message Msg{m} {{")
            if f:
                lines.append(f"  chain.p{f - 1}.Msg{m} previous_file = 1;")
            if m:
                lines.append(f"  Msg{m - 1} previous = 2;")
            for k in range(3, 16):
                kind = ("string", "int64", "bool")[k % 3]
                lines.append(f"  {kind} field_number_{k}_with_a_longish_name = {k};")
            lines.append("}")
        if f == files - 1:
            lines.append("message Request {}")
            lines.append(f"service Chain {{ rpc Get(Request) returns (Msg{messages - 1}); }}")
        (folder / f"c{f}.proto").write_text("\n".join(lines) + "\n")
    return [f"c{f}.proto" for f in range(files)]

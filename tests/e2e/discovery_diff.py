#!/usr/bin/env python3
"""Compares vkube's discovery documents with kube-apiserver's own (api/discovery of the
pinned k8s.io/kubernetes module).

usage: discovery_diff.py UPSTREAM_DIR OURS_DIR "SERVED_GVS" "NOT_SERVED"

OURS_DIR holds what vkube answered: apis.json, aggregated_api.json, aggregated_apis.json
and one legacy document per served group-version, named as upstream names them
(api__v1.json, apis__apps__v1.json). SERVED_GVS lists the group-versions the build
serves in URL form (api/v1 apis/apps/v1 ...); NOT_SERVED the resources kube serves there
that vkube does not yet ("v1/bindings", "events.k8s.io/v1/events").

Every resource vkube lists, legacy and aggregated, must equal kube's entry exactly (less
the subresources vkube does not serve yet, which are printed); every resource kube lists
must be served or named in NOT_SERVED; /apis must list kube's groups in kube's order.
Exits 1 on any difference.
"""
import json
import os
import sys

up_dir, ours_dir = sys.argv[1:3]
served_gvs = [tuple(g.split("/")[1:]) if g.startswith("apis/") else ("", g.split("/")[1])
              for g in sys.argv[3].split()]
not_served = set(sys.argv[4].split())
served = set(served_gvs)
diffs, missing_subs, seen_not_served = [], [], set()


def load(d, name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)


def fname(group, version):
    return f"apis__{group}__{version}.json" if group else f"api__{version}.json"


def key(group, version, plural):
    return f"{group + '/' if group else ''}{version}/{plural}"


def differ(what, ours, kube):
    diffs.append(f"{what}\n    vkube {json.dumps(ours, sort_keys=True)}\n"
                 f"    kube  {json.dumps(kube, sort_keys=True)}")


# Legacy discovery, per group-version.
served_subs = {}  # key -> set of subresource names vkube serves
for group, version in sorted(served):
    up = load(up_dir, fname(group, version))["resources"]
    try:
        ours = load(ours_dir, fname(group, version))["resources"]
    except (OSError, ValueError):
        ours = []
    ours_by = {r["name"]: r for r in ours}
    for r in up:
        name, k = r["name"], key(group, version, r["name"])
        o = ours_by.pop(name, None)
        if o is None and "/" in name:
            if name.split("/")[0] in [x["name"] for x in ours]:
                missing_subs.append(k)
        elif o is None and k in not_served:
            seen_not_served.add(k)
        elif o is None:
            diffs.append(f"{k}: kube serves it, vkube does not")
        elif o != r:
            differ(k, o, r)
        if o is not None and "/" in name:
            parent, sub = name.split("/", 1)
            served_subs.setdefault(key(group, version, parent), set()).add(sub)
    diffs += [f"{key(group, version, n)}: vkube serves it, kube does not" for n in ours_by]
diffs += [f"{k}: named as not served, but vkube serves it or kube has no such resource"
          for k in sorted(not_served - seen_not_served)]

# /apis: kube's groups in kube's order with the served versions, less the groups whose
# every resource is not served yet.
def listed(group, version):
    """Served, and not every resource of it named as not served."""
    return (group, version) in served and not all(
        key(group, version, r["name"]) in not_served
        for r in load(up_dir, fname(group, version))["resources"] if "/" not in r["name"])


want = []
for g in load(up_dir, "apis.json")["groups"]:
    versions = [v for v in g["versions"] if listed(g["name"], v["version"])]
    if versions:
        want.append({"name": g["name"], "versions": versions, "preferredVersion": versions[0]})
got = load(ours_dir, "apis.json")["groups"]
if got != want:
    differ("/apis groups", got, want)

# Aggregated discovery. kube's document covers the named groups; the core group's entry
# is made from its legacy document the way kube's aggregator makes it.
def core_aggregated():
    res = []
    for r in load(up_dir, "api__v1.json")["resources"]:
        if "/" in r["name"]:
            parent, sub = r["name"].split("/", 1)
            res[-1].setdefault("subresources", []).append({
                "subresource": sub,
                "responseKind": {"group": r.get("group", ""), "version": r.get("version", ""),
                                 "kind": r["kind"]},
                "verbs": r["verbs"]})
            continue
        e = {"resource": r["name"], "responseKind": {"group": "", "version": "", "kind": r["kind"]},
             "scope": "Namespaced" if r["namespaced"] else "Cluster",
             "singularResource": r["singularName"], "verbs": r["verbs"]}
        for f in ("shortNames", "categories"):
            if f in r:
                e[f] = r[f]
        res.append(e)
    return {"metadata": {}, "versions": [{"version": "v1", "resources": res, "freshness": "Current"}]}


up_agg = {g["metadata"]["name"]: g for g in load(up_dir, "aggregated_v2.json")["items"]}
up_agg[""] = core_aggregated()
for doc in ("aggregated_api.json", "aggregated_apis.json"):
    for g in load(ours_dir, doc)["items"]:
        gname = g["metadata"].get("name", "")
        if gname not in up_agg:
            diffs.append(f"aggregated: group {gname!r} unknown to kube")
            continue
        up_v = {v["version"]: v for v in up_agg[gname]["versions"]}
        want_versions = [v for v in up_agg[gname]["versions"] if listed(gname, v["version"])]
        if [v["version"] for v in g["versions"]] != [v["version"] for v in want_versions]:
            differ(f"aggregated {gname!r} versions", g["versions"], want_versions)
            continue
        for v in g["versions"]:
            up_res = {r["resource"]: r for r in up_v[v["version"]]["resources"]}
            for r in v["resources"]:
                u = dict(up_res.get(r["resource"], {}))
                keep = served_subs.get(key(gname, v["version"], r["resource"]), set())
                u["subresources"] = [s for s in u.get("subresources", []) if s["subresource"] in keep]
                if not u["subresources"]:
                    del u["subresources"]
                if r != u:
                    differ(f"aggregated {key(gname, v['version'], r['resource'])}", r, u)
            if v.get("freshness") != "Current":
                diffs.append(f"aggregated {gname}/{v['version']}: freshness {v.get('freshness')}")

for m in missing_subs:
    print(f"info: subresource not served yet: {m}")
for d in diffs:
    print(f"DIFF {d}")
print(f"{len(diffs)} differences; {len(missing_subs)} subresources not served yet")
sys.exit(1 if diffs else 0)

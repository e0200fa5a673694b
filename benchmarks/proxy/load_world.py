"""The load mode's world: 1,000 agents in bench/t/p, each with 10 API-key connections of `bench`, and a wrk script
that sends every request as a random agent through a random one of its connections (Latchkey-Connection).

    python3 load_world.py LATCHKEY_URL ADMIN_KEY OUT.lua [--agents 1000] [--per-agent 10]
"""
import argparse
import concurrent.futures
import json
import random

import requests

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("admin_key")
parser.add_argument("out")
parser.add_argument("--agents", type=int, default=1000)
parser.add_argument("--per-agent", type=int, default=10)
options = parser.parse_args()
headers = {"Authorization": f"Bearer {options.admin_key}"}


def agent(index: int) -> dict:
    session = requests.Session()
    created = session.post(f"{options.url}/v1/admin/agents", headers=headers,
                           json={"project": "bench/t/p", "id": f"load{index}"})
    created.raise_for_status()
    connections = []
    for slot in range(options.per_agent):
        answer = session.post(f"{options.url}/v1/admin/connections", headers=headers, json={
            "provider": "bench", "owner": f"agent:bench/t/p/load{index}", "api_key": f"upstream-token-{index}-{slot}"})
        answer.raise_for_status()
        connections.append(answer.json()["id"])
    return {"key": created.json()["api_key"], "connections": connections}


with concurrent.futures.ThreadPoolExecutor(8) as pool:
    agents = list(pool.map(agent, range(options.agents)))

lines = ["local agents = {"]
for entry in agents:
    lines.append("  {key = %s, connections = {%s}}," % (
        json.dumps(entry["key"]), ", ".join(json.dumps(c) for c in entry["connections"])))
lines.append("}")
lines.append(f"math.randomseed({random.randrange(1 << 30)})")
lines.append("""request = function()
  local agent = agents[math.random(#agents)]
  local connection = agent.connections[math.random(#agent.connections)]
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. agent.key, ["Latchkey-Connection"] = connection})
end""")
with open(options.out, "w") as out:
    out.write("\n".join(lines) + "\n")
print(f"load world: {len(agents)} agents, {sum(len(a['connections']) for a in agents)} connections")

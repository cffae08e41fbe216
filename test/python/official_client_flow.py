"""The managed-files story through the official openai Python client (v1.x), run by
test/python-client.test.ts against a live gateway. Prints one JSON object with what it saw.

Usage: official_client_flow.py <base_url> <api_key> <model_a> <model_b> <other_model>
"""
import json
import sys

import openai

base_url, api_key, model_a, model_b, other_model = sys.argv[1:6]
client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0)
data = "Unifile through the Python client: caf\u00e9 \u2713\n".encode("utf-8")
seen = {}

# Fields first, the file part last, a list as repeated target_model_names[] fields.
created = client.files.create(
    file=("r\u00e9sum\u00e9 q1.txt", data, "text/plain"),
    purpose="user_data",
    extra_body={"target_model_names": [model_a, model_b]},
)
seen["created"] = created.model_dump()

listed = client.files.list()
seen["listed_ids"] = [item.id for item in listed.data]
# A list filter in extra_body goes out as a GET with a JSON body.
seen["listed_for_a"] = [item.id for item in client.files.list(extra_body={"target_model_names": [model_a]}).data]
seen["listed_for_other"] = [item.id for item in client.files.list(extra_body={"target_model_names": [other_model]}).data]

retrieved = client.files.retrieve(created.id)
seen["retrieved"] = retrieved.model_dump()

content = client.files.content(created.id)
seen["content_equal"] = content.content == data
seen["content_headers"] = {
    name: content.response.headers.get(name)
    for name in ("content-type", "content-disposition", "x-content-type-options", "content-length")
}

for model in (model_a, model_b):
    chat = client.chat.completions.create(
        model=model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this file?"},
                    {"type": "file", "file": {"file_id": created.id}},
                ],
            }
        ],
    )
    seen.setdefault("chat", {})[model] = {"object": chat.object, "content": chat.choices[0].message.content}

deleted = client.files.delete(created.id)
seen["deleted"] = deleted.model_dump()

try:
    client.files.retrieve(created.id)
    seen["after_delete"] = "still there"
except openai.NotFoundError as error:
    seen["after_delete"] = {"status": error.status_code, "body": error.body}

try:
    client.files.delete("file-does-not-exist")
    seen["unknown_delete"] = "accepted"
except openai.APIStatusError as error:
    seen["unknown_delete"] = {"status": error.status_code, "body": error.body}

print(json.dumps(seen))

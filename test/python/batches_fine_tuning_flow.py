"""Batches and fine-tuning through the official openai Python client (v1.x), called the way
LiteLLM proxy's users call them (extra_body target_model_names, extra_headers x-litellm-model,
extra_body custom_llm_provider, with_raw_response, the client's auto-pagination). Run by
test/python-batches-fine-tuning.test.ts against a live gateway, one phase per call; prints one
JSON object with what it saw. A call that raises is recorded as {"raised": ...}, never hidden.

Usage: batches_fine_tuning_flow.py <phase> <base_url> <args as JSON>
"""
import json
import sys
import time

import openai

phase, base_url, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])


def client_for(key):
    return openai.OpenAI(api_key=key, base_url=base_url, max_retries=0)


def raised(error):
    """What the Python client raised, in a form the node test can assert on."""
    seen = {"raised": type(error).__name__, "message": str(error)}
    if isinstance(error, openai.APIStatusError):
        seen["status"] = error.status_code
        seen["body"] = error.body
    return seen


def attempt(call):
    try:
        return call()
    except openai.OpenAIError as error:
        return raised(error)


def batch_lines(count, model, prefix="py"):
    return "\n".join(
        json.dumps(
            {
                "custom_id": f"{prefix}-{index}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": model, "messages": [{"role": "user", "content": f"question {index}"}]},
            }
        )
        for index in range(count)
    ).encode("utf-8")


def poll(client, batch_id, statuses, timeout=40.0):
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in statuses or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


def output_lines(client, file_id):
    content = client.files.content(file_id)
    return [json.loads(line) for line in content.text.split("\n") if line.strip()]


seen = {}

if phase == "batches":
    owner = client_for(args["owner_key"])
    count = args["lines"]
    for model in args["models"]:
        entry = seen.setdefault(model, {})
        # The managed-batches doc's upload: one name, as a plain form field.
        uploaded = owner.files.create(
            file=("requests.jsonl", batch_lines(count, model), "application/jsonl"),
            purpose="batch",
            extra_body={"target_model_names": model},
        )
        entry["file"] = uploaded.model_dump()
        raw = owner.batches.with_raw_response.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"job": "python", "model": model},
        )
        created = raw.parse()
        entry["create_status"] = raw.status_code
        entry["create_content_type"] = raw.headers.get("content-type")
        entry["created"] = created.model_dump()
    for model in args["models"]:
        entry = seen[model]
        done = poll(owner, entry["created"]["id"], ("completed", "failed", "expired", "cancelled"))
        entry["done"] = done.model_dump()
        if done.output_file_id:
            lines = output_lines(owner, done.output_file_id)
            entry["output"] = {
                "count": len(lines),
                "answers": {line["custom_id"]: line["response"]["body"]["choices"][0]["message"]["content"] for line in lines},
                "status_codes": sorted({line["response"]["status_code"] for line in lines}),
            }
            entry["output_file"] = owner.files.retrieve(done.output_file_id).model_dump()
        entry["again"] = owner.batches.retrieve(entry["created"]["id"]).model_dump()
    # Auto-pagination: the client follows `after` (the last id of each page) while has_more.
    seen["paged_ids"] = [batch.id for batch in owner.batches.list(limit=1)]
    first = owner.batches.list(limit=2)
    seen["first_page"] = {"ids": [batch.id for batch in first.data], "has_more": first.has_more}
    seen["next_page_ids"] = [batch.id for batch in first.get_next_page().data] if first.has_next_page() else None
    # Output files are the owner's managed files, listed with purpose batch_output.
    seen["output_files_listed"] = [item.id for item in owner.files.list(purpose="batch_output")]

    stranger = client_for(args["stranger_key"])
    some = seen[args["models"][0]]
    seen["stranger"] = {
        "retrieve": attempt(lambda: stranger.batches.retrieve(some["created"]["id"]).model_dump()),
        "cancel": attempt(lambda: stranger.batches.cancel(some["created"]["id"]).model_dump()),
        "content": attempt(lambda: stranger.files.content(some["done"]["output_file_id"]).text),
        "input_retrieve": attempt(lambda: stranger.files.retrieve(some["file"]["id"]).model_dump()),
        "create_on_input": attempt(
            lambda: stranger.batches.create(input_file_id=some["file"]["id"], endpoint="/v1/chat/completions", completion_window="24h").model_dump()
        ),
        "list": [batch.id for batch in stranger.batches.list()],
        "unknown": attempt(lambda: stranger.batches.retrieve("batch_uf_AAAAAAAAAAAAAAAAAAAAAAAA").model_dump()),
    }

elif phase == "list-form-upload":
    # A list in extra_body goes out as repeated target_model_names[] fields, before the file part.
    owner = client_for(args["owner_key"])
    model = args["model"]
    uploaded = owner.files.create(
        file=("requests.jsonl", batch_lines(args["lines"], model, "listed"), "application/jsonl"),
        purpose="batch",
        extra_body={"target_model_names": [model]},
    )
    seen["file"] = uploaded.model_dump()
    created = owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    seen["created"] = created.model_dump()
    done = poll(owner, created.id, ("completed", "failed"))
    seen["done"] = done.model_dump()
    if done.output_file_id:
        seen["output_count"] = len(output_lines(owner, done.output_file_id))

elif phase == "cancel":
    owner = client_for(args["owner_key"])
    model = args["model"]
    uploaded = owner.files.create(
        file=("requests.jsonl", batch_lines(args["lines"], model, "slow"), "application/jsonl"),
        purpose="batch",
        extra_body={"target_model_names": model},
    )
    created = owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    seen["created"] = created.model_dump()
    seen["delete_while_running"] = attempt(lambda: owner.files.delete(uploaded.id).model_dump())
    progressing = poll(owner, created.id, ("in_progress",), timeout=20.0)
    seen["progressing"] = progressing.status
    seen["cancelling"] = owner.batches.cancel(created.id).model_dump()
    seen["cancel_again"] = owner.batches.cancel(created.id).model_dump()
    cancelled = poll(owner, created.id, ("cancelled",))
    seen["cancelled"] = cancelled.model_dump()
    if cancelled.output_file_id:
        seen["partial_count"] = len(output_lines(owner, cancelled.output_file_id))
    seen["delete_after"] = attempt(lambda: owner.files.delete(uploaded.id).model_dump())

elif phase == "malformed":
    owner = client_for(args["owner_key"])
    model = args["model"]
    bad = batch_lines(2, model) + b'\n{"custom_id":"x","method":"POST"\n'
    seen["broken_json"] = attempt(
        lambda: owner.files.create(file=("bad.jsonl", bad, "application/jsonl"), purpose="batch", extra_body={"target_model_names": model}).model_dump()
    )
    other = batch_lines(1, model) + b"\n" + batch_lines(1, "not-a-target", "other")
    seen["other_model"] = attempt(
        lambda: owner.files.create(file=("bad.jsonl", other, "application/jsonl"), purpose="batch", extra_body={"target_model_names": [model]}).model_dump()
    )
    seen["files_after"] = [item.id for item in owner.files.list()]

elif phase == "plain":
    # LiteLLM's non-managed routes: an upload routed by x-litellm-model or custom_llm_provider,
    # a batch on that raw file id.
    owner = client_for(args["owner_key"])
    for name, extra in (
        ("by_header", {"extra_headers": {"x-litellm-model": args["model"]}}),
        ("by_provider", {"extra_body": {"custom_llm_provider": args["provider"]}}),
    ):
        entry = seen.setdefault(name, {})
        uploaded = owner.files.create(
            file=("plain.jsonl", batch_lines(3, args["deployment_model"], name), "application/jsonl"), purpose="batch", **extra
        )
        entry["file"] = uploaded.model_dump()
        created = attempt(
            lambda: owner.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h").model_dump()
        )
        entry["created"] = created
        if "raised" not in created:
            done = poll(owner, created["id"], ("completed", "failed"))
            entry["done"] = done.model_dump()
            if done.output_file_id:
                entry["output_count"] = attempt(lambda: len(output_lines(owner, done.output_file_id)))

elif phase == "fine-tuning":
    owner = client_for(args["owner_key"])
    model = args["model"]
    training = "\n".join(
        json.dumps({"messages": [{"role": "user", "content": word}, {"role": "assistant", "content": word.upper()}]})
        for word in ("hi", "there", "friend")
    ).encode("utf-8")
    uploaded = owner.files.create(file=("train.jsonl", training), purpose="fine-tune", extra_body={"target_model_names": model})
    seen["file"] = uploaded.model_dump()
    raw = owner.fine_tuning.jobs.with_raw_response.create(model=model, training_file=uploaded.id, suffix="pyflow", hyperparameters={"n_epochs": 1})
    job = raw.parse()
    seen["create_status"] = raw.status_code
    seen["created"] = job.model_dump()
    deadline = time.monotonic() + 20
    while True:
        current = owner.fine_tuning.jobs.retrieve(job.id)
        if current.status in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    seen["done"] = current.model_dump()
    seen["events"] = [event.message for event in owner.fine_tuning.jobs.list_events(job.id, limit=2)]
    seen["listed"] = [item.id for item in owner.fine_tuning.jobs.list(limit=1)]
    if current.result_files:
        seen["result_head"] = owner.files.content(current.result_files[0]).text[:40]
    if current.fine_tuned_model:
        chat = owner.chat.completions.create(model=current.fine_tuned_model, messages=[{"role": "user", "content": "hello tuned"}])
        seen["chat"] = {"model": chat.model, "content": chat.choices[0].message.content}
        seen["models"] = [item.id for item in owner.models.list()]
    # Cancelling a job that has finished: OpenAI answers 400; the client raises BadRequestError.
    seen["cancel_finished"] = attempt(lambda: owner.fine_tuning.jobs.cancel(job.id).model_dump())
    stranger = client_for(args["stranger_key"])
    seen["stranger"] = {
        "retrieve": attempt(lambda: stranger.fine_tuning.jobs.retrieve(job.id).model_dump()),
        "cancel": attempt(lambda: stranger.fine_tuning.jobs.cancel(job.id).model_dump()),
        "events": attempt(lambda: [event.id for event in stranger.fine_tuning.jobs.list_events(job.id)]),
        "list": [item.id for item in stranger.fine_tuning.jobs.list()],
        "chat": attempt(
            lambda: stranger.chat.completions.create(model=current.fine_tuned_model or "none", messages=[{"role": "user", "content": "x"}]).model_dump()
        ),
    }

elif phase == "fine-tuning-cancel":
    owner = client_for(args["owner_key"])
    model = args["model"]
    training = json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}).encode("utf-8")
    uploaded = owner.files.create(file=("train.jsonl", training), purpose="fine-tune", extra_body={"target_model_names": [model]})
    job = owner.fine_tuning.jobs.create(model=model, training_file=uploaded.id)
    seen["created"] = job.model_dump()
    seen["cancelled"] = owner.fine_tuning.jobs.cancel(job.id).model_dump()
    seen["cancel_again"] = owner.fine_tuning.jobs.cancel(job.id).model_dump()
    seen["events"] = [event.message for event in owner.fine_tuning.jobs.list_events(job.id)]
    seen["retrieved"] = owner.fine_tuning.jobs.retrieve(job.id).model_dump()

elif phase == "gateway-fields":
    # LiteLLM users pass the gateway's own routing fields on every call: in the JSON body
    # (extra_body, also on a GET), the query (extra_query) or a header (extra_headers).
    owner = client_for(args["owner_key"])
    model, tune = args["model"], args["tune_model"]
    uploaded = owner.files.create(
        file=("requests.jsonl", batch_lines(3, model, "fields"), "application/jsonl"),
        purpose="batch",
        extra_body={"target_model_names": model},
    )
    by_body = owner.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_body={"custom_llm_provider": "openai", "model": model},
    )
    by_header = owner.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h", extra_headers={"x-litellm-model": model}
    )
    seen["batch_ids"] = [by_body.id, by_header.id]
    seen["retrieve_body"] = poll(owner, by_body.id, ("completed", "failed")).status
    seen["retrieve_query"] = owner.batches.retrieve(by_header.id, extra_query={"custom_llm_provider": "openai"}).status
    seen["list_query"] = [batch.id for batch in owner.batches.list(limit=10, extra_query={"target_model_names": model})]
    seen["list_body"] = [batch.id for batch in owner.batches.list(extra_body={"custom_llm_provider": "openai"})]
    training = json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}).encode("utf-8")
    tuning_file = owner.files.create(file=("train.jsonl", training), purpose="fine-tune", extra_body={"target_model_names": tune})
    job = owner.fine_tuning.jobs.create(model=tune, training_file=tuning_file.id, extra_body={"custom_llm_provider": "openai"})
    seen["job_id"] = job.id
    seen["job_list_query"] = [item.id for item in owner.fine_tuning.jobs.list(extra_query={"custom_llm_provider": "openai"})]
    seen["job_retrieve_body"] = owner.fine_tuning.jobs.retrieve(job.id, extra_body={"custom_llm_provider": "openai"}).id
    seen["job_cancel_body"] = attempt(lambda: owner.fine_tuning.jobs.cancel(job.id, extra_body={"custom_llm_provider": "openai"}).status)

else:
    raise SystemExit(f"unknown phase {phase}")

print(json.dumps(seen))

"""openai-python's video calls against a genjob sandbox, run by openai_python.rs.

The client reads OPENAI_BASE_URL and OPENAI_API_KEY itself; the test also sets GENJOB_DONE_ID (a
completed OpenAI-style video), GENJOB_RUNNING_ID (one still running) and GENJOB_OUT_DIR (where the
downloads go). Prints one JSON line of what the client saw; exits non-zero when a check fails.
"""

import json
import os
import signal
import sys
import warnings

import openai

# However the sandbox misbehaves, the script ends: `poll` alone would loop forever.
signal.alarm(60)
# The Sora API calls are marked deprecated in recent clients; the calls still work as documented.
warnings.simplefilter("ignore", DeprecationWarning)


def check(condition, what):
    if not condition:
        sys.exit(f"openai-python against the sandbox: {what}")


def main():
    done_id = os.environ["GENJOB_DONE_ID"]
    running_id = os.environ["GENJOB_RUNNING_ID"]
    out_dir = os.environ["GENJOB_OUT_DIR"]
    client = openai.OpenAI(max_retries=0, timeout=20.0)

    video = client.videos.retrieve(done_id)
    check(video.id == done_id and video.status == "completed", f"retrieve gave {video!r}")

    polled = None
    if hasattr(client.videos, "poll"):
        polled = client.videos.poll(running_id, poll_interval_ms=50)
        check(polled.id == running_id and polled.status == "completed", f"poll gave {polled!r}")

    # One video a page, so the client follows the list's `after` cursor.
    listed = [listed_video.id for listed_video in client.videos.list(limit=1)]

    content_types = {}
    for variant, name in [("video", "video.mp4"), ("thumbnail", "thumbnail.webp"), ("spritesheet", "spritesheet.jpg")]:
        content = client.videos.download_content(done_id, variant=variant)
        content.write_to_file(os.path.join(out_dir, name))
        content_types[variant] = content.response.headers.get("content-type")
    # Without a variant: the video, exactly as the README of openai-python shows it.
    client.videos.download_content(done_id).write_to_file(os.path.join(out_dir, "x.mp4"))
    with open(os.path.join(out_dir, "x.mp4"), "rb") as written:
        check(not written.read(1).startswith(b"{"), "download_content wrote JSON, not the video")

    print(
        json.dumps(
            {
                "openai_version": openai.__version__,
                "retrieved": video.status,
                "polled": polled.status if polled else None,
                "listed": listed,
                "content_types": content_types,
            }
        )
    )


main()

#!/usr/bin/env python3
"""The chat page of `kaiwu serve` (GET /) in headless Chromium driven by
selenium: the model name shows, a prompt streams an assistant reply that
grows, Stop ends a long stream and the page is usable again (and the
server's slot is freed), the conversation history is sent along, an API-key
server makes the page ask for the key, and the page made no request outside
the server's origin. Skips (77) when chromium, chromedriver or selenium is
missing, unless KW_REQUIRE_MODELS=1."""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import MODEL_ID, Runner, Server, need_serve, skip  # noqa: E402

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError as e:
    skip("python package missing: %s" % e)

MODEL = need_serve()
CHROMEDRIVER = os.environ.get("KW_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("KW_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")
if not CHROMIUM or not os.access(CHROMEDRIVER, os.X_OK):
    skip("chromium or chromedriver missing (apt-get install chromium chromium-driver)")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def wait_for(fn, timeout, what, step=0.05):
    """Polls fn until it returns a true value; returns it."""
    t0 = time.time()
    while True:
        v = fn()
        if v:
            return v
        if time.time() - t0 > timeout:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(step)


def new_driver():
    o = Options()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-extensions", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--window-size=1100,900"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


class Page:
    def __init__(self, driver, srv):
        self.d = driver
        self.srv = srv

    def el(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def js(self, code, *args):
        return self.d.execute_script(code, *args)

    def assistant_texts(self):
        return self.js("return Array.from(document.querySelectorAll('.msg.assistant .text'))"
                       ".map(e => e.textContent)")

    def state(self):
        return self.js("return document.body.dataset.state")

    def set_opts(self, max_tokens, temperature):
        self.js("document.getElementById('max-tokens').value = arguments[0];"
                "document.getElementById('temperature').value = arguments[1];",
                str(max_tokens), str(temperature))

    def send(self, text, with_enter=False):
        box = self.el("#input")
        box.clear()
        box.send_keys(text)
        if with_enter:
            box.send_keys(Keys.ENTER)
        else:
            self.el("#send").click()

    def wait_idle(self, timeout):
        wait_for(lambda: self.state() == "idle", timeout, "the page to become idle")


def test_model_name(p):
    p.d.get(p.srv.url + "/")
    check("kaiwu" in p.d.title.lower(), "title %r" % p.d.title)
    want = MODEL_ID if p.srv.kaiwu else None
    name = wait_for(lambda: (p.el("#model").text not in ("", "loading\u2026")) and
                    p.el("#model").text, 15, "#model to show the model name")
    if want:
        check(name == want, "#model shows %r, want %r" % (name, want))
    check(p.el("#stop").get_attribute("disabled") is not None, "Stop enabled while idle")
    check(p.el("#send").is_enabled(), "Send disabled while idle")


def test_stream_and_history(p):
    p.set_opts(48, 0)
    p.send("Write a short story about a robot.")
    # the streamed text appears and grows while the page is streaming
    lens = []
    t0 = time.time()
    while time.time() - t0 < 60:
        texts = p.assistant_texts()
        if texts and texts[-1]:
            lens.append(len(texts[-1]))
        if p.state() == "idle":
            break
        time.sleep(0.02)
    p.wait_idle(60)
    texts = p.assistant_texts()
    check(len(texts) == 1 and texts[0].strip(), "assistant messages %r" % texts)
    check(len(set(lens)) >= 3, "assistant text did not grow while streaming: lengths %r" % lens)
    check(p.el(".msg.user .text").text == "Write a short story about a robot.", "user message")
    check(p.el("#error").text == "", "error shown: %r" % p.el("#error").text)
    first = texts[0]
    # the same prompt through the API (greedy) gives the same text
    r = p.srv.post("/v1/chat/completions", {
        "messages": [{"role": "user", "content": "Write a short story about a robot."}],
        "max_tokens": 48, "temperature": 0})
    check(r.status == 200, "API request: %r" % r)
    check(r.json()["choices"][0]["message"]["content"] == first,
          "page text %r differs from the API's %r" % (first, r.json()["choices"][0]["message"]["content"]))
    # a second turn (sent with Enter) carries the history: the server sees both turns
    p.set_opts(8, 0)
    p.send("Give it a name.", with_enter=True)
    p.wait_idle(60)
    texts = p.assistant_texts()
    check(len(texts) == 2 and texts[1].strip(), "second reply %r" % texts)
    r = p.srv.post("/v1/chat/completions", {
        "messages": [{"role": "user", "content": "Write a short story about a robot."},
                     {"role": "assistant", "content": first},
                     {"role": "user", "content": "Give it a name."}],
        "max_tokens": 8, "temperature": 0})
    check(r.json()["choices"][0]["message"]["content"] == texts[1],
          "second turn %r differs from the API with history %r"
          % (texts[1], r.json()["choices"][0]["message"]["content"]))


def test_stop_button(p):
    p.el("#clear").click()
    p.set_opts(2000, 0)
    p.send("List the numbers from 1 to 300, separated by commas.")
    wait_for(lambda: p.state() == "streaming", 10, "streaming to start")
    wait_for(lambda: p.assistant_texts() and len(p.assistant_texts()[-1]) > 20, 60,
             "some streamed text")
    check(p.el("#stop").is_enabled(), "Stop disabled while streaming")
    p.el("#stop").click()
    p.wait_idle(5)
    n = len(p.assistant_texts()[-1])
    time.sleep(0.5)
    check(len(p.assistant_texts()[-1]) == n, "text kept growing after Stop")
    done = p.js("return document.querySelector('.msg.assistant:last-of-type') &&"
                " Array.from(document.querySelectorAll('.msg.assistant')).pop().dataset.done")
    check(done == "stopped", "last message state %r after Stop" % done)
    if p.srv.kaiwu:
        wait_for(lambda: p.srv.slots_busy() == 0, 3, "the server slot to be freed after Stop")
    # usable again
    check(p.el("#send").is_enabled() and not p.el("#stop").is_enabled(), "buttons after Stop")
    p.set_opts(6, 0)
    p.send("Hello!")
    p.wait_idle(60)
    check(len(p.assistant_texts()) == 2 and p.assistant_texts()[-1].strip(),
          "reply after Stop: %r" % p.assistant_texts())


def test_no_foreign_requests(p):
    origin = p.srv.url
    urls = p.js("return performance.getEntriesByType('resource').map(e => e.name)"
                ".concat([location.href])")
    for log in p.d.get_log("performance"):
        msg = json.loads(log["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    bad = [u for u in urls if not (u.startswith(origin + "/") or u == origin or
                                   u.startswith("data:"))]
    check(not bad, "requests outside %s: %r" % (origin, bad))
    check(any("/v1/chat/completions" in u for u in urls), "no chat request seen in %r" % urls)
    errs = [e for e in p.d.get_log("browser") if e.get("level") == "SEVERE"]
    check(not errs, "browser console errors: %r" % errs)


def test_api_key_prompt(d):
    with Server(["--api-key", "k3y", "--parallel", "1", "--ctx", "512"]) as a:
        p = Page(d, a)
        d.get(a.url + "/")
        wait_for(lambda: p.el("#key-box").is_displayed(), 10, "the API key box after a 401")
        p.el("#api-key").send_keys("k3y")
        p.el("#key-save").click()
        if a.kaiwu:
            wait_for(lambda: p.el("#model").text == MODEL_ID, 10, "the model name with the key")
        check(d.execute_script("return sessionStorage.getItem('kaiwu-api-key')") == "k3y",
              "key not kept in sessionStorage")
        p.set_opts(4, 0)
        p.send("Hi")
        p.wait_idle(60)
        check(p.assistant_texts() and p.assistant_texts()[-1].strip(),
              "no reply with the key: %r" % p.assistant_texts())
        d.execute_script("sessionStorage.clear()")


def main():
    run = Runner("test_serve_browser")
    d = new_driver()
    try:
        with Server(["--parallel", "2", "--ctx", "2048"]) as srv:
            r = srv.request("GET", "/")
            check(r.status == 200 and r.headers.get("content-type", "").startswith("text/html"),
                  "GET /: %r %r" % (r, r.headers.get("content-type")))
            p = Page(d, srv)
            for fn in (test_model_name, test_stream_and_history, test_stop_button,
                       test_no_foreign_requests):
                if not run.run(fn, p) and fn is test_model_name:
                    break
        run.run(test_api_key_prompt, d)
    finally:
        d.quit()
    run.finish()


if __name__ == "__main__":
    main()

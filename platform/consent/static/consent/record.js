// Records the owner reading the verification statement (MediaRecorder, WebM) and posts it.
// As recording starts it opens a recorder session on the server (a single-use nonce); the clip
// is sent with that nonce, and the server checks its length against the session's age.
// Served as a file because the CSP forbids inline scripts.
(function () {
  "use strict";
  const root = document.getElementById("recorder");
  if (!root) return;
  const preview = document.getElementById("preview");
  const startButton = document.getElementById("record-start");
  const stopButton = document.getElementById("record-stop");
  const status = document.getElementById("record-status");
  const uploadUrl = root.dataset.uploadUrl;
  const sessionUrl = root.dataset.sessionUrl;
  const maxSeconds = Number(root.dataset.maxSeconds || "60");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  let recorder = null;
  let chunks = [];
  let stopTimer = null;
  let nonce = "";

  function say(text) { status.textContent = text; }

  function pickType() {
    const types = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp8", "video/webm"];
    return types.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
  }

  async function send(blob) {
    say("Sending and checking your recording…");
    const body = new FormData();
    body.append("source", "recording");
    body.append("nonce", nonce);
    body.append("clip", blob, "recording.webm");
    try {
      const response = await fetch(uploadUrl, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": csrf },
        credentials: "same-origin",
      });
      // The server answers with a redirect to the verification page showing the outcome.
      window.location.href = response.url;
    } catch (error) {
      say("Sending failed: " + error.message + ". Try again.");
      startButton.disabled = false;
    }
  }

  startButton.addEventListener("click", async function () {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      say("This browser cannot record video here.");
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (error) {
      say("Camera or microphone not available: " + error.message);
      return;
    }
    try {
      const response = await fetch(sessionUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrf },
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.error ? answer.error.message : response.statusText);
      nonce = answer.nonce;
    } catch (error) {
      stream.getTracks().forEach((track) => track.stop());
      say("Could not start the recording: " + error.message);
      return;
    }
    preview.srcObject = stream;
    chunks = [];
    const type = pickType();
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data && event.data.size) chunks.push(event.data);
    });
    recorder.addEventListener("stop", () => {
      clearTimeout(stopTimer);
      stream.getTracks().forEach((track) => track.stop());
      send(new Blob(chunks, { type: recorder.mimeType || "video/webm" }));
    });
    recorder.start(1000);
    startButton.disabled = true;
    stopButton.disabled = false;
    say("Recording… read the statement, then press Stop.");
    stopTimer = setTimeout(() => recorder.state === "recording" && recorder.stop(), maxSeconds * 1000);
  });

  stopButton.addEventListener("click", function () {
    stopButton.disabled = true;
    if (recorder && recorder.state === "recording") recorder.stop();
  });
})();

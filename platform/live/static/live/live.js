// The Live page: the browser's own RTCPeerConnection sends the microphone (or a chosen audio
// file) and receives the face; the SDP offer/answer goes over plain HTTP to the web origin.
"use strict";

(function () {
  const root = document.getElementById("live");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const status = (text) => { $("live-status").textContent = text; };
  let pc = null, session = null, player = null, stopping = false;

  async function microphone() {
    const file = $("live-audio").files[0];
    if (!file) return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    // A file plays into the call as the microphone would.
    player = new Audio(URL.createObjectURL(file));
    await player.play();
    return player.captureStream();
  }

  async function call(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json();
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data;
  }

  async function start() {
    $("live-start").disabled = true;
    status("Connecting…");
    try {
      pc = new RTCPeerConnection();
      const stream = await microphone();
      stream.getAudioTracks().forEach((track) => pc.addTrack(track, stream));
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.ontrack = (event) => {
        if (event.track.kind === "video") $("live-video").srcObject = new MediaStream([event.track]);
      };
      pc.onconnectionstatechange = () => {
        // A stop we asked for reports its own outcome (published or why not) when it answers.
        if (stopping) return;
        if (["failed", "closed", "disconnected"].includes(pc.connectionState)) status("Ended.");
      };
      await pc.setLocalDescription(await pc.createOffer());
      // Non-trickle, as WHIP: the offer goes once its candidates are gathered.
      await new Promise((done) => {
        if (pc.iceGatheringState === "complete") return done();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
      });
      const option = $("live-identity").selectedOptions[0];
      session = await call(root.dataset.api, {
        identity: Number(option.value),
        purpose: option.dataset.purpose,
        sdp: pc.localDescription.sdp,
        type: "offer",
      });
      await pc.setRemoteDescription(session.answer);
      $("live-stop").disabled = false;
      status("Live.");
    } catch (error) {
      status("Could not start: " + error.message);
      if (pc) pc.close();
      $("live-start").disabled = false;
    }
  }

  async function stop() {
    $("live-stop").disabled = true;
    stopping = true;
    status("Stopping…");
    if (player) player.pause();
    try {
      const ended = await call(session.url.replace(/^https?:\/\/[^/]+/, "") + "/stop");
      status(ended.record_id ? "Ended; the recording is among your videos." : "Ended: " + (ended.end_reason || ended.status));
    } catch (error) {
      status("Stop failed: " + error.message);
    }
    if (pc) pc.close();
    stopping = false;
    $("live-start").disabled = false;
  }

  $("live-start").addEventListener("click", start);
  $("live-stop").addEventListener("click", stop);
})();

// The packet's progress page, live: polls the job (GET /api/v1/jobs/{id}/, the session signs it) and updates
// the progress in place, then offers the download. Without JavaScript the page refreshes itself instead
// (templates/jobs/job_detail.html); a state this script does not draw (a failure, a retry) reloads the page,
// so the server's wording is the only one.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const card = document.querySelector("[data-job-url]");
  if (!card) return;
  const status = card.querySelector("[data-job-status]");
  const bar = card.querySelector("progress");
  const every = Number(card.dataset.refresh || 2) * 1000;

  const showProgress = (progress) => {
    status.textContent = `Rendering: ${progress.done} of ${progress.total || "?"} cases.`;
    bar.max = progress.total || 1;
    bar.value = progress.done;
    bar.textContent = `${progress.done} of ${progress.total}`;
  };

  const showDownload = () => {
    status.textContent = "The packet is ready.";
    status.className = "notice";
    bar.remove();
    card.querySelector("[data-job-note]").remove();
    const link = document.createElement("a");
    link.className = "button";
    link.href = card.dataset.download;
    link.textContent = "Download the packet";
    const paragraph = document.createElement("p");
    paragraph.append(link);
    card.append(paragraph);
  };

  const poll = async () => {
    let job;
    try {
      const response = await fetch(card.dataset.jobUrl, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      job = await response.json();
    } catch {
      window.setTimeout(poll, every * 3); // the network or the server faltered: look again a little later
      return;
    }
    if (job.status === "done") {
      showDownload();
      return;
    }
    if (job.status === "running") {
      showProgress(job.progress);
    } else if (`${job.status}:${job.attempts}` !== card.dataset.jobShown) {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, every);
  };
  window.setTimeout(poll, every);
});

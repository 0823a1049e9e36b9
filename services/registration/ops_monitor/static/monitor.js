// The ops monitor: refreshes the server-rendered panels every few seconds, and shows a
// trainee's timeline without reloading the page. Both come as HTML fragments rendered (and
// escaped) by the server from the same data as /ops/api/snapshot and /ops/api/timeline/{id}.
"use strict";

(function () {
  const panels = document.getElementById("panels");
  const timeline = document.getElementById("timeline");
  const search = document.getElementById("search");
  const every = Math.max(Number(panels.dataset.refreshSeconds) || 5, 2) * 1000;

  async function fragment(url) {
    const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (answer.status === 401) {
      window.location.assign("/ops/login");
      return null;
    }
    if (!answer.ok) {
      throw new Error("HTTP " + answer.status);
    }
    return answer.text();
  }

  function openDetails(root) {
    return new Set(
      Array.from(root.querySelectorAll("details[open]"), (d) => d.dataset.key),
    );
  }

  async function refresh() {
    try {
      const html = await fragment("/ops/fragments/panels");
      if (html !== null) {
        const open = openDetails(panels);
        panels.innerHTML = html;
        panels.querySelectorAll("details").forEach((d) => {
          d.open = open.has(d.dataset.key);
        });
        panels.classList.remove("stale");
      }
    } catch (error) {
      panels.classList.add("stale");
    } finally {
      window.setTimeout(refresh, every);
    }
  }

  search.addEventListener("submit", async (event) => {
    const id = search.elements.enrolment.value.trim();
    if (!id) {
      return;
    }
    event.preventDefault();
    timeline.hidden = false;
    timeline.classList.add("loading");
    try {
      const html = await fragment("/ops/fragments/timeline/" + encodeURIComponent(id));
      if (html !== null) {
        timeline.innerHTML = html;
        window.history.replaceState(null, "", "/ops?enrolment=" + encodeURIComponent(id));
      }
    } catch (error) {
      timeline.textContent = "Could not load the timeline (" + error.message + ").";
    } finally {
      timeline.classList.remove("loading");
    }
  });

  window.setTimeout(refresh, every);
})();

"use strict";
// The API docs: swagger-ui from the vendored package, reading this server's OpenAPI.
window.addEventListener("DOMContentLoaded", function () {
  if (typeof window.SwaggerUIBundle !== "function") {
    document.getElementById("swagger-ui").textContent =
      "swagger-ui is not installed here; the API is described at /openapi.json";
    return;
  }
  window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui" });
});

// Suggestions for code fields (data-code-list): the field stays a plain text box that works
// without JavaScript; this only fills a <datalist> from the portal's code search as you type.
(function () {
  "use strict";
  var searchUrl = "/codes/search/";
  document.querySelectorAll("input[data-code-list]").forEach(function (input, index) {
    var list = document.createElement("datalist");
    list.id = "code-options-" + index;
    input.setAttribute("list", list.id);
    input.after(list);
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var term = input.value.trim();
      if (term.length < 2) return;
      timer = setTimeout(function () {
        var url = searchUrl + "?format=json&list=" + encodeURIComponent(input.dataset.codeList) + "&q=" + encodeURIComponent(term);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            list.replaceChildren.apply(list, data.results.map(function (c) {
              var option = document.createElement("option");
              option.value = c.code;
              option.label = c.code + " " + c.display;
              option.textContent = c.display;
              return option;
            }));
          })
          .catch(function () {});
      }, 200);
    });
  });
})();

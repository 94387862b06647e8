document.getElementById("root").textContent = "Hello from the frontend";

console.log("candor: not yet available")

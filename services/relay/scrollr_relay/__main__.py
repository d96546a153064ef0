from scrollr_relay.serve.cli import main

main()

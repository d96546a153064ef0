from scrollr_relay.cli import main

main()

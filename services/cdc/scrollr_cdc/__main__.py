from scrollr_cdc.cli import main

main()
